//! Wire types only (serde), one module per format. No logic beyond (de)serialisation.

pub mod responses;
