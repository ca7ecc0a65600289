from mixpeek_cli.cli import main

main()
