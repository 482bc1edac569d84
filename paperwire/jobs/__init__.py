"""Jobs: the pipeline's stages and the scheduled work, each runnable from the CLI.

``embed`` computes the embedding backlog (resumable: progress lives in the database);
``reindex`` rebuilds the derived index files from the store; ``migrate`` copies the store
to another database; ``sync`` fetches what is new from the sources (and ingests it with
``services.ingest``); ``digest`` plans and sends the email digests; ``worker`` runs
them all on their schedules.
"""
