"""`signalbox demo`: the story of DESIGN.md replayed against a temporary server, narrated."""
