# Pending Windows updates (the Windows Update agent's own search) and a pending reboot.
# Prints { "pending": [ { title, kb } ], "reboot_required": bool }.
param()

$session = New-Object -ComObject Microsoft.Update.Session
$searcher = $session.CreateUpdateSearcher()
$result = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
$pending = @(foreach ($u in $result.Updates) {
    [pscustomobject]@{ title = $u.Title; kb = (@($u.KBArticleIDs) | ForEach-Object { "KB$_" }) -join ',' }
  })
$reboot = (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') -or
  (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending')
[pscustomobject]@{ pending = $pending; reboot_required = [bool]$reboot } | ConvertTo-Json -Compress -Depth 4
