"""Speed, memory and quality of kquant-gui against its peers; run with ``python -m benchmarks``."""
