//! Tests of the parser, one file per concept.
