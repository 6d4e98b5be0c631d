"""What the tests share: stand-ins, kits, emulator starters, scenario apps and sample projects."""
