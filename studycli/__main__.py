from studycli.cli import main

main()
