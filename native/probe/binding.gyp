{
  "targets": [
    {
      "target_name": "probe_engine",
      "sources": ["engine.cc", "http_response.cc", "md5.cc", "syn_prober.cc", "tls_client.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
