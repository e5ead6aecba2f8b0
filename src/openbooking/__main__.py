from openbooking.cli import main

main()
