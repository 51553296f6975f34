"""State: what a page remembers (drafts), its address (URL codec, URL state) and who the visitor is."""
