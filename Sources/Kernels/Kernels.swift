// Module Kernels: see ARCHITECTURE.md for its job and who may import it.
