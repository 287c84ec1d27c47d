"""Command-line pieces the harnesses share."""

SPACES = ("custom", "nasbench201", "resnet")


def space_options(parser, items, spaces=SPACES):
    """`SPACE:KEY=VALUE` flags to {space: {key: value}} (values as `python -m kerasnas.run` reads
    them); a malformed one ends the harness through `parser.error`, naming it."""
    from kerasnas.cli import parse_options

    options = {space: {} for space in spaces}
    for item in items:
        space, sep, rest = item.partition(":")
        if not sep or space not in spaces:
            parser.error(f"--space-option expects SPACE:KEY=VALUE with SPACE in {', '.join(spaces)}; "
                         f"got {item!r}")
        try:
            options[space].update(parse_options([rest]))
        except ValueError as e:
            parser.error(str(e))
    return options


def scale(options):
    """A space's pinned knobs as text ("" for its defaults): the scale its rows ran at."""
    return ",".join(f"{k}={v}" for k, v in sorted((options or {}).items()))


def check_spaces(parser, text, known):
    """Ends the harness through `parser.error` when `--spaces` (comma-separated) names a space
    outside `known`, naming the known ones."""
    unknown = [s for s in text.split(",") if s not in known]
    if unknown:
        parser.error(f"--spaces: unknown {', '.join(unknown)}; choose from {', '.join(known)}")
