from ntm_field.cli import main

raise SystemExit(main())
