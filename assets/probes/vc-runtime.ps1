# Visual C++ 2015 (or later 2015-2022) runtimes, x86 and x64, from the registry.
# Prints { "runtimes": [ { arch, installed, version } ] }.
param()

$list = @(foreach ($arch in 'x86', 'x64') {
    $keys = "HKLM:\SOFTWARE\WOW6432Node\Microsoft\VisualStudio\14.0\VC\Runtimes\$arch",
            "HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\$arch"
    $hit = $keys | ForEach-Object { Get-ItemProperty -Path $_ -ErrorAction SilentlyContinue } |
      Where-Object { $_.Installed -eq 1 } | Select-Object -First 1
    [pscustomobject]@{ arch = $arch; installed = [bool]$hit; version = $(if ($hit) { "$($hit.Version)" } else { '' }) }
  })
[pscustomobject]@{ runtimes = $list } | ConvertTo-Json -Compress -Depth 4
