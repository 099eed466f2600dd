"""The offline mini-web: a corpus turned into a search index and served as real HTML on 127.0.0.1.

- ``corpus`` (with ``corpus_folder``, ``corpus_html``, ``wikiextractor``, ``wiki_vital``): corpus
  readers, a JSONL file, a folder of documents, a WikiExtractor dump or the embedded
  ``wiki-vital``, as a stream of ``Doc`` objects; a corpus's HTML goes through the web's
  visibility pass (``browser_env.web.visibility``);
- ``index``: the BM25 index and page store (``build_index``, ``open_index``);
- ``index_cmd``: ``webqa index build``;
- ``server``: ``MiniWeb``, the HTTP server over an opened index.

Serve an index by hand: ``python -m browser_env.miniweb [INDEX_DIR] [--port 8080]``.
"""
