"""Search indexes: keyword (BM25) and vector search behind one interface.

``base.SearchIndex`` is the contract; ``embedded`` is the default implementation
(tantivy files + an exact numpy vector matrix in the data directory). Indexes are
derived data: ``paperwire index --rebuild`` recreates them from the store.
"""
