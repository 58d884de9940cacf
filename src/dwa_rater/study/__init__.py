"""The one-command study: the whole pipeline, offline on embedded defaults, into one folder."""
