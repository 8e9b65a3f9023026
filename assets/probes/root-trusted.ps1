# Whether the certificate a URL presents chains to a root in LocalMachine\Root, as this
# server (the machine context) sees it. Prints { host, subject, chain_ok, status: [..],
# root_subject, root_thumbprint, root_in_store }.
param([string]$Url)

$uri = [Uri]$Url
$port = if ($uri.Port -gt 0) { $uri.Port } else { 443 }
$client = New-Object System.Net.Sockets.TcpClient
$client.Connect($uri.DnsSafeHost, $port)
$accept = [System.Net.Security.RemoteCertificateValidationCallback] { param($s, $c, $ch, $e) $true }
$ssl = New-Object System.Net.Security.SslStream($client.GetStream(), $false, $accept)
$ssl.AuthenticateAsClient($uri.DnsSafeHost)
$leaf = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2($ssl.RemoteCertificate)
$ssl.Dispose(); $client.Close()

$chain = New-Object System.Security.Cryptography.X509Certificates.X509Chain($true)
$chain.ChainPolicy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
$ok = $chain.Build($leaf)
$root = $chain.ChainElements[$chain.ChainElements.Count - 1].Certificate
$inStore = Test-Path -Path ("Cert:\LocalMachine\Root\" + $root.Thumbprint)
[pscustomobject]@{
  host            = $uri.DnsSafeHost
  subject         = $leaf.Subject
  chain_ok        = [bool]$ok
  status          = @($chain.ChainStatus | ForEach-Object { "$($_.Status)" })
  root_subject    = $root.Subject
  root_thumbprint = $root.Thumbprint.ToUpperInvariant()
  root_in_store   = [bool]$inStore
} | ConvertTo-Json -Compress -Depth 4
