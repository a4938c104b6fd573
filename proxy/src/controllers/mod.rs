//! The controllers (Swift's `proxy/controllers/`).

pub mod account;
pub mod backend;
pub mod base;
pub mod container;
pub mod cors;
pub mod getter;
pub mod obj;
pub mod putter;
