from pixelrnn_cli.cli import main

main()
