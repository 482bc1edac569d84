"""Jobs: the pipeline's stages, each runnable from the CLI (and later a scheduler).

``ingest`` stores records and indexes them for keyword search at once; ``embed``
computes the embedding backlog (resumable: progress lives in the database);
``reindex`` rebuilds the derived index files from the store.
"""
