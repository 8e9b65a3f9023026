# Certificates in LocalMachine\My issued to a name (subject CN or a DNS SAN).
# Prints one JSON object: { "certificates": [ { subject, sans, thumbprint, serial, issuer,
# not_before, not_after, has_private_key } ] }. Judged by mfa-rollout, not here.
param([string]$Name, [string[]]$AlsoNames = @())

$wanted = $Name.ToLowerInvariant()
$found = @(Get-ChildItem -Path Cert:\LocalMachine\My | Where-Object {
    $sans = @($_.DnsNameList | ForEach-Object { $_.Unicode.ToLowerInvariant() })
    $cn = $_.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
    ($cn -and $cn.ToLowerInvariant() -eq $wanted) -or ($sans -contains $wanted)
  } | ForEach-Object {
    [pscustomobject]@{
      subject         = $_.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
      sans            = @($_.DnsNameList | ForEach-Object { $_.Unicode })
      thumbprint      = $_.Thumbprint.ToUpperInvariant()
      serial          = $_.SerialNumber
      issuer          = $_.Issuer
      not_before      = $_.NotBefore.ToUniversalTime().ToString('s') + 'Z'
      not_after       = $_.NotAfter.ToUniversalTime().ToString('s') + 'Z'
      has_private_key = [bool]$_.HasPrivateKey
    }
  })
[pscustomobject]@{ certificates = $found } | ConvertTo-Json -Compress -Depth 4
