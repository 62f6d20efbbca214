"""Resource agents shipped with ocfkit; each script in agents/ starts one of these."""
