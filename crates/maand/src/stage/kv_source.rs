//! The template engine's view of KV: the session filtered through the read policy.

use crate::kv::policy::Reader;
use crate::kv::KvStore;

pub struct PolicyKv<'a> {
    pub kv: &'a KvStore,
    pub reader: &'a Reader,
    pub prometheus: &'a (String, String),
}

impl maand_template::KvSource for PolicyKv<'_> {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        if !self.reader.can_read(namespace) {
            return Err(self.reader.denied(namespace));
        }
        self.kv.get(namespace, key).map_err(|e| e.to_string())
    }

    fn keys(&self, namespace: &str) -> Result<Vec<String>, String> {
        if !self.reader.can_read(namespace) {
            return Err(self.reader.denied(namespace));
        }
        Ok(self.kv.keys(namespace))
    }

    fn scrape_configs(&self) -> Result<String, String> {
        Ok(self.prometheus.0.clone())
    }

    fn rule_files(&self) -> Result<String, String> {
        Ok(self.prometheus.1.clone())
    }
}
