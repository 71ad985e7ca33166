"""Legal text: provision trees, spoken Vietnamese, citations, numbers, lexicon rules, scripts."""
