"""Text embeddings for semantic search, one module per part (no import circles).

``base`` — the ``Embedder`` protocol, ``EmbedderError``, ``resolve_model``,
``document_text`` and the helpers every backend shares; ``torch`` — sentence-transformers;
``onnx`` — ONNX Runtime (the default backend); ``onnx_export`` — ``paperwire model
export``; ``loader`` — ``load_embedder`` (settings → backend, with the fallback to torch).
Imports point down that list only: ``loader`` → ``onnx``/``torch`` → ``onnx_export`` →
``base``.
"""
