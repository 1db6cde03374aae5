// Module Backends: see ARCHITECTURE.md for its job and who may import it.
