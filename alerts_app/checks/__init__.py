"""Pure statistics behind every rule kind, one module per family (see `base`).

Which check serves which kind is declared in `alerts_app/kinds.py`.
"""
