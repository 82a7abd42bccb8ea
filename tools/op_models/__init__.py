"""Case families of tools/make_op_models.py (one module per op family, each with cases(B))."""
