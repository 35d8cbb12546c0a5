"""`viarl plan`: will a recipe fit the GPUs? Model shapes and the memory estimate."""
