from signalbox.cli.main import main

main()
