"""`python -m server.gmail.emulator`: serve a mailbox file or the demo mailbox."""

from server.gmail.emulator.server import main

raise SystemExit(main())
