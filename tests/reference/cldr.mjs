// ICU's CLDR forms for tests/test_languages.py: the data Babel gives our filters, from an
// independent implementation (ICU, built into Node; no package needed).
//
// Reads {"locales": [...], "dates": ["2024-03-26", ...], "times": ["09:00", ...],
// "lists": [["Orchard", "Tampines"], ...]} as JSON on stdin; prints, for each locale:
//   resolved  the locale ICU resolved it to (zh-SG: Simplified Chinese in Singapore)
//   dates     per date: monthDay (skeleton MMMd), weekday (EEE), full (dateStyle full)
//   times     per time of day: timeStyle short
//   lists     each list joined as a conjunction ("A, B and C")
import { readFileSync } from 'node:fs'

const { locales, dates, times, lists } = JSON.parse(readFileSync(0, 'utf8'))
const utc = { timeZone: 'UTC' }
const answer = {}
for (const locale of locales) {
  const monthDay = new Intl.DateTimeFormat(locale, { ...utc, month: 'short', day: 'numeric' })
  const weekday = new Intl.DateTimeFormat(locale, { ...utc, weekday: 'short' })
  const full = new Intl.DateTimeFormat(locale, { ...utc, dateStyle: 'full' })
  const clock = new Intl.DateTimeFormat(locale, { ...utc, timeStyle: 'short' })
  const list = new Intl.ListFormat(locale, { type: 'conjunction' })
  const day = (iso) => new Date(`${iso}T00:00:00Z`)
  answer[locale] = {
    resolved: monthDay.resolvedOptions().locale,
    dates: Object.fromEntries(
      dates.map((iso) => [
        iso,
        {
          monthDay: monthDay.format(day(iso)),
          weekday: weekday.format(day(iso)),
          full: full.format(day(iso)),
        },
      ]),
    ),
    times: Object.fromEntries(times.map((hm) => [hm, clock.format(new Date(`1970-01-01T${hm}:00Z`))])),
    lists: lists.map((items) => list.format(items)),
  }
}
process.stdout.write(JSON.stringify(answer))
