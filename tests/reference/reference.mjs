// The platforms' own answers for a list of texts, for tests/reference/test_reference.py.
//
// Reads a JSON array of strings on stdin; prints a JSON array with, for each string (only
// the platforms named as arguments, if any: `node reference.mjs x` skips loading @atproto/api):
//   x         twitter-text 3.1.0: parseTweet's weightedLength and valid, extractUrls' URLs
//   bluesky   @atproto/api's RichText: graphemeLength, UTF-8 length, and the facets of
//             detectFacetsWithoutResolution (links, tags; mentions stay unresolved)
//   mastodon  the length Mastodon's StatusLengthValidator counts: URLs with a scheme (as
//             twitter-text's extractor finds them) count 23, "@user@domain" counts as "@user"
//             (Account::MENTION_RE), the rest by grapheme clusters; and how many URLs
//             there are (an instance reserving n characters per URL counts n - 23 more each)
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const twttr = createRequire(import.meta.url)('twitter-text')

// Mastodon's app/models/account.rb: USERNAME_RE and MENTION_RE ([[:word:]] spelled out)
const WORD = '[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]'
const MENTION = new RegExp(
  `(?<![=/\\p{L}\\p{M}\\p{Nd}\\p{Pc}])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@${WORD}+(?:[.-]+${WORD}+)*)?)`,
  'giu',
)
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })

function mastodonLength(text) {
  const urls = twttr.extractUrlsWithIndices(text, { extractUrlsWithoutProtocol: false })
  let countable = ''
  let at = 0
  for (const { indices } of urls) {
    countable += text.slice(at, indices[0]) + 'x'.repeat(23)
    at = indices[1]
  }
  countable += text.slice(at)
  countable = countable.replace(MENTION, '@$2')
  return { length: [...graphemes.segment(countable)].length, urls: urls.length }
}

function x(text) {
  const tweet = twttr.parseTweet(text)
  return { weightedLength: tweet.weightedLength, valid: tweet.valid, urls: twttr.extractUrls(text) }
}

function bluesky(RichText, text) {
  const rich = new RichText({ text })
  rich.detectFacetsWithoutResolution()
  return {
    graphemes: rich.graphemeLength,
    bytes: rich.length,
    facets: (rich.facets ?? []).map((f) => ({ index: f.index, features: f.features })),
  }
}

const wanted = process.argv.length > 2 ? process.argv.slice(2) : ['x', 'bluesky', 'mastodon']
const { RichText } = wanted.includes('bluesky') ? await import('@atproto/api') : {}
const texts = JSON.parse(readFileSync(0, 'utf8'))
const answers = texts.map((text) => {
  const answer = {}
  if (wanted.includes('x')) answer.x = x(text)
  if (wanted.includes('bluesky')) answer.bluesky = bluesky(RichText, text)
  if (wanted.includes('mastodon')) answer.mastodon = mastodonLength(text)
  return answer
})
process.stdout.write(JSON.stringify(answers))
