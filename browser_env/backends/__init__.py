"""Search backends: each turns its engine's answer into ``SearchResult`` lists (see ``types.SearchBackend``)."""
