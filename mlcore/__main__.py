from mlcore.cli import main

main()
