"""Everything a reader sees: house chart style, rendering, the annual and youth reports, slides,
quality sheets."""
