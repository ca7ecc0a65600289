from mixpeek_cli.entry import main

main()
