"""Benchmarks that ship with paperwire (``paperwire bench …``).

``collections`` loads judged test collections (BEIR folders, CACM's SMART files);
``relevance`` runs them through a fresh, temporary paperwire install and scores the
rankings with ranx.
"""
