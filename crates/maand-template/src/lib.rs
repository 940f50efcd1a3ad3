pub use gotmpl;
