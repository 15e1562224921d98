"""The options every command shares (where the data comes from, how the report is given), the
exit codes, and the one exception that ends a run with exit 3."""

# Everything else is imported where it is used: `--version` and `--help` load click alone, an
# offline `--from` analysis never loads the API client or protobuf (see test_cold_start).

from kplanediag.cli.options.exits import EXIT_CRITICAL, EXIT_OK, EXIT_UNKNOWN, EXIT_WARNING, THRESHOLDS, CannotAssess
from kplanediag.cli.options.report import output_options, redact_option, report_options, terminal_width, use_colour
from kplanediag.cli.options.source import AT_BEFORE_CAPTURE, Source, preload_analysis
from kplanediag.cli.options.source_flags import (
    GLOBAL_EPILOG,
    SOURCE_OPTIONS,
    SOURCE_PARAMS,
    SourceOption,
    global_options,
    source_options,
)
from kplanediag.cli.options.values import byte_size, duration, input_size

__all__ = [
    "AT_BEFORE_CAPTURE",
    "EXIT_CRITICAL",
    "EXIT_OK",
    "EXIT_UNKNOWN",
    "EXIT_WARNING",
    "GLOBAL_EPILOG",
    "SOURCE_OPTIONS",
    "SOURCE_PARAMS",
    "THRESHOLDS",
    "CannotAssess",
    "Source",
    "SourceOption",
    "byte_size",
    "duration",
    "global_options",
    "input_size",
    "output_options",
    "preload_analysis",
    "redact_option",
    "report_options",
    "source_options",
    "terminal_width",
    "use_colour",
]
