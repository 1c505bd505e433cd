from rayjob_bench.cli import main

main()
