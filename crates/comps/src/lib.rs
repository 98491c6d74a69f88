//! comps.xml: parse, filter per arch and variant, write
