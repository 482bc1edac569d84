"""Importers: each turns one kind of input into ``PaperRecord``s and ``Rejection``s.

Every importer yields a stream of ``PaperRecord | Rejection`` so one bad line is
reported (file, line, reason) and skipped while the rest lands.
"""
