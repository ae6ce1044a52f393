"""Counting and links exactly as each platform does, checked against its own reference code.

- :mod:`.x`: X's weighted length (twitter-text 3.1.0's ``parseTweet``);
- :mod:`.mastodon`: Mastodon's ``StatusLengthValidator`` (URLs 23, ``@user@domain`` as
  ``@user``, grapheme clusters);
- :mod:`.bluesky`: the link and tag facets of Bluesky's own app (``@atproto/api``'s
  ``detectFacets``), with every link covering exactly the URL its writer wrote.

tests/reference runs the platforms' npm packages over a corpus of hard cases and requires
the same answers from these modules.
"""
