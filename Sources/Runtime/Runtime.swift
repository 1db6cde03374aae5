// Module Runtime: see ARCHITECTURE.md.
