"""Data files shipped with the ASR adapter (category rules)."""
