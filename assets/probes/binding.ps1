# The https bindings of an IIS site on port 443 with their certificate thumbprints, and the
# thumbprints of the certificates in LocalMachine\My issued to the name.
# Prints { "bindings": [ { binding, thumbprint } ], "certificates": [ thumbprint ] }.
param([string]$Site, [string]$Name)

Import-Module WebAdministration
$bindings = @(Get-WebBinding -Name $Site -Protocol https | Where-Object {
    ($_.bindingInformation -split ':')[1] -eq '443'
  } | ForEach-Object {
    $hash = "$($_.certificateHash)"
    if (-not $hash) {
      $ssl = Get-Item -Path 'IIS:\SslBindings\0.0.0.0!443' -ErrorAction SilentlyContinue
      if ($ssl) { $hash = "$($ssl.Thumbprint)" }
    }
    [pscustomobject]@{ binding = $_.bindingInformation; thumbprint = $hash.ToUpperInvariant() }
  })
$wanted = $Name.ToLowerInvariant()
$certs = @(Get-ChildItem -Path Cert:\LocalMachine\My | Where-Object {
    $sans = @($_.DnsNameList | ForEach-Object { $_.Unicode.ToLowerInvariant() })
    $cn = $_.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
    ($cn -and $cn.ToLowerInvariant() -eq $wanted) -or ($sans -contains $wanted)
  } | ForEach-Object { $_.Thumbprint.ToUpperInvariant() })
[pscustomobject]@{ bindings = $bindings; certificates = $certs } | ConvertTo-Json -Compress -Depth 4
