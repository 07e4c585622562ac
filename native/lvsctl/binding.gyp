{
  "targets": [
    {
      "target_name": "lvsctl-status",
      "type": "executable",
      "sources": ["lvsctl_status.c"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra"]
    }
  ]
}
