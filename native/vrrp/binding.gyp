{
  "targets": [
    {
      "target_name": "vrrp_packet",
      "sources": ["packet.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17"]
    }
  ]
}
