// Dates as ICU writes them, for tests/checks/test_weekdays.py: Node's Intl.DateTimeFormat
// (ICU's own code and data, nothing shared with Babel but the CLDR it is checked against).
//
// Reads {"dates": ["2024-03-26", ...], "formats": {"name": ["zh-SG", {Intl options}], ...}}
// on stdin; prints {"name": [parts, ...], ...}: each date's formatToParts in each format, as
// [type, value] pairs ([["month", "3"], ["literal", "月"], ["day", "26"], ...]), in UTC.
import { readFileSync } from 'node:fs'

const { dates, formats } = JSON.parse(readFileSync(0, 'utf8'))
const answers = {}
for (const [name, [locale, options]] of Object.entries(formats)) {
  const format = new Intl.DateTimeFormat(locale, { ...options, timeZone: 'UTC' })
  answers[name] = dates.map((day) =>
    format.formatToParts(new Date(`${day}T00:00:00Z`)).map((part) => [part.type, part.value]),
  )
}
process.stdout.write(JSON.stringify(answers))
