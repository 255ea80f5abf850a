"""Data preparation for the adapters' recipes: Gutenberg books, Alpaca, Tatoeba pairs, and the
examples (token ids and labels) that training and evaluation cut from them.

Every loader reads the real source by default (a download) and takes a local file or
folder instead when given one; nothing here downloads at import time.
"""
