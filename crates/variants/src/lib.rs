//! Variants: pungi's variants.xml and inline definitions, with addons, optional and layered products
